"""Synthetic loads of a fleet's sites: household, EV charger, heat pump, PV, in kW.

Shapes only need to be realistic enough that the screen faces what a DSO's data looks like: a
household base with morning and evening peaks and short appliance spikes, EV sessions that start
in the evening (some at midday) and charge at a constant power, heat pumps that cycle with a duty
following the outdoor temperature plus a morning hot-water run, and PV that follows the sun at
Danish latitude under day-to-day cloud. Every array is ``(sites, steps)`` on a regular grid of
``step_ms``; ``local_hour`` gives each step's local clock hour (daylight saving included).
All randomness comes from the caller's generator, so a seed reproduces a fleet.
"""

from __future__ import annotations

import numpy as np

MS_PER_DAY = 86_400_000
#: Latitude and longitude used for the sun (Denmark, around Odense): only the shape matters.
LATITUDE_DEG = 55.5
LONGITUDE_DEG = 10.4


def household(rng: np.random.Generator, local_hour: np.ndarray, n_sites: int) -> np.ndarray:
    """Base load: standby, a two-peak daily profile and short appliance spikes (kW)."""
    standby = rng.uniform(0.08, 0.25, (n_sites, 1))
    amplitude = rng.uniform(0.3, 1.2, (n_sites, 1))
    h = local_hour[None, :]
    profile = (0.5 * np.exp(-0.5 * ((h - 7.5) / 1.0) ** 2)
               + 1.0 * np.exp(-0.5 * ((h - 18.5) / 1.8) ** 2)
               + 0.25 * np.exp(-0.5 * ((h - 12.5) / 2.5) ** 2))
    shape = (n_sites, len(local_hour))
    spikes = (rng.random(shape) < 0.015 + 0.05 * profile) * rng.uniform(0.4, 2.5, shape)
    wobble = 1.0 + 0.15 * rng.standard_normal(shape)
    return np.maximum(standby + amplitude * profile * wobble + spikes, 0.02)


def ev_charger(rng: np.random.Generator, day_start_step: np.ndarray, steps_per_hour: int,
               n_steps: int, n_sites: int) -> np.ndarray:
    """Charging sessions: some days none, else from arrival until the energy is delivered (kW)."""
    n_days = len(day_start_step)
    power = rng.choice([3.7, 7.4, 11.0], size=n_sites, p=[0.2, 0.3, 0.5])
    midday = rng.random(n_sites) < 0.2  # works from home, or charges on its own solar power
    charges = rng.random((n_sites, n_days)) < rng.uniform(0.35, 0.75, (n_sites, 1))
    arrival_h = np.where(midday[:, None], rng.normal(11.0, 1.2, (n_sites, n_days)),
                         rng.normal(18.0, 1.5, (n_sites, n_days)))
    energy = rng.uniform(6.0, 35.0, (n_sites, n_days))
    hours = energy / power[:, None]
    start = day_start_step[None, :] + np.round(np.clip(arrival_h, 0, 23.5) * steps_per_hour)
    stop = start + np.maximum(np.round(hours * steps_per_hour), 1)
    on = np.zeros((n_sites, n_steps + 1), dtype=np.int32)
    rows = np.broadcast_to(np.arange(n_sites)[:, None], charges.shape)[charges]
    np.add.at(on, (rows, np.clip(start[charges], 0, n_steps).astype(np.int64)), 1)
    np.add.at(on, (rows, np.clip(stop[charges], 0, n_steps).astype(np.int64)), -1)
    active = np.cumsum(on, axis=1)[:, :n_steps] > 0
    jitter = 1.0 + 0.01 * rng.standard_normal((n_sites, n_steps))
    return np.where(active, power[:, None] * jitter, 0.0)


def outdoor_temperature(rng: np.random.Generator, day_of_year: np.ndarray,
                        local_hour: np.ndarray, day_index: np.ndarray) -> np.ndarray:
    """One regional temperature (°C) per step: season, day-to-day weather, daily swing."""
    season = 8.5 - 8.5 * np.cos(2 * np.pi * (day_of_year - 20) / 365.25)
    weather = np.cumsum(rng.normal(0.0, 1.5, int(day_index.max()) + 1))
    weather -= weather.mean()
    swing = -3.0 * np.cos(2 * np.pi * (local_hour - 15.0) / 24.0)
    return season + weather[day_index] + swing


def heat_pump(rng: np.random.Generator, temperature: np.ndarray, local_hour: np.ndarray,
              steps_per_hour: int, n_sites: int) -> np.ndarray:
    """Compressor cycles with a duty that rises as it gets colder, plus hot water at dawn (kW)."""
    n_steps = len(temperature)
    rated = rng.uniform(1.5, 3.5, (n_sites, 1))
    duty = np.clip((16.0 - temperature[None, :]) / 22.0, 0.08, 1.0)
    cycle = rng.integers(4, 9, (n_sites, 1))  # steps per compressor cycle
    # the controller restarts its cycle at irregular moments: a new phase every hour or so
    hours = -(-n_steps // steps_per_hour)
    phase = np.repeat(rng.integers(0, 8, (n_sites, hours)), steps_per_hour, axis=1)[:, :n_steps]
    position = ((np.arange(n_steps)[None, :] + phase) % cycle) / cycle
    on = position < duty * rng.uniform(0.85, 1.15, (n_sites, n_steps))
    hot_water_at = rng.uniform(4.5, 6.5, (n_sites, 1))
    hot_water = (local_hour[None, :] >= hot_water_at) & (local_hour[None, :] < hot_water_at + 1)
    level = rated * rng.uniform(0.75, 1.0, (n_sites, n_steps))
    return np.where(on | hot_water, level, 0.02)


def pv(rng: np.random.Generator, times_ms: np.ndarray, day_index: np.ndarray,
       n_sites: int) -> np.ndarray:
    """Production (kW) from the sun's elevation at Danish latitude, daily cloud, passing clouds."""
    capacity = rng.uniform(4.0, 10.0, (n_sites, 1))
    t_days = times_ms / MS_PER_DAY
    day_of_year = (t_days - 4.0) % 365.25  # epoch day 0 is 1 January 1970
    declination = np.deg2rad(23.44) * np.sin(2 * np.pi * (day_of_year - 80) / 365.25)
    solar_hour = ((t_days % 1.0) * 24.0 + LONGITUDE_DEG / 15.0) % 24.0
    hour_angle = np.deg2rad(15.0 * (solar_hour - 12.0))
    lat = np.deg2rad(LATITUDE_DEG)
    sin_elev = (np.sin(lat) * np.sin(declination)
                + np.cos(lat) * np.cos(declination) * np.cos(hour_angle))
    clear = np.maximum(sin_elev, 0.0) ** 1.2
    cloud_day = rng.uniform(0.15, 1.0, (n_sites, int(day_index.max()) + 1))[:, day_index]
    passing = np.clip(1.0 - 0.35 * rng.random((n_sites, len(times_ms))), 0.0, 1.0)
    return capacity * 0.8 * clear[None, :] * cloud_day * passing
