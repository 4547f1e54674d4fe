"""Reading run files safely: bounded JSON, streamed logs, trajectories, patches."""
