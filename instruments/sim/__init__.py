"""The simulated world: loads and phases, meter physics, Modbus and SCPI servers on 127.0.0.1.

Simulators take a *time function* (``Callable[[], int]`` returning epoch ms), never the bench's
clock object, so they run in real, scaled or virtual time alike.
"""
