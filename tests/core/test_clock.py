import asyncio

from meterbench.clocks.run_clock import ScaledClock, VirtualClock


def test_virtual_clock_runs_participants_in_time_order_and_together_at_equal_times():
    async def main():
        clock, log = VirtualClock(0), []

        async def task(name, times):
            clock.join()
            try:
                for t in times:
                    await clock.sleep_until(t)
                    log.append((clock.now_ms(), name))
                    await asyncio.sleep(0.001)  # I/O while time stands still
                    assert clock.now_ms() == t
            finally:
                clock.leave()

        await asyncio.gather(task("a", [10, 20, 30]), task("b", [15, 20, 40]))
        return log

    log = asyncio.run(main())
    assert [t for t, _ in log] == sorted(t for t, _ in log)
    assert sorted(log) == [(10, "a"), (15, "b"), (20, "a"), (20, "b"), (30, "a"), (40, "b")]


def test_virtual_clock_never_runs_backwards():
    c = VirtualClock(100)
    c.advance_to(50)
    assert c.now_ms() == 100
    asyncio.run(c.sleep_until(10))
    assert c.now_ms() == 100


def test_scaled_clock_runs_faster():
    c = ScaledClock(0, 1000.0)

    async def main():
        await c.sleep_until(200)  # 0.2 ms of wall time
        return c.now_ms()

    assert asyncio.run(main()) >= 200
