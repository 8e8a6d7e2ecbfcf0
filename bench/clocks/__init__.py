"""The bench's clocks: real, scaled, virtual, and anchored to the wall clock across restarts."""
