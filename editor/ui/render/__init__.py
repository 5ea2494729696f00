"""The render room: the service session, renders and voice samples, the cost and queue panels."""
