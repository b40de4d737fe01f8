"""Kafka plumbing: the Faust app, topics, codecs, publishing, retries and dead letters."""
