"""The timing protocol shared by medtrain's benchmark peers (and bench/models.ts): one warm-up
iteration, then iterations until `seconds` have passed (at least one); the median iteration time."""
import statistics
import time


def timed(step, seconds):
    step()  # warm-up (allocations, tracing, compilation)
    times = []
    start = time.perf_counter()
    while not times or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(times)
