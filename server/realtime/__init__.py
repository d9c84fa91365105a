"""Live group updates: the durable event log, the hub that rings, and the sockets."""
