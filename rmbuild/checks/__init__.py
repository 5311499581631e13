"""The checks layer: parity, tests, benchmarks, the browser, the wheel and lint. They
run what the build layer makes through the run layer: the same artifacts users get."""
