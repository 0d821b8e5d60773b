"""Application services: what each use of carecheck means, whatever the adapter."""
