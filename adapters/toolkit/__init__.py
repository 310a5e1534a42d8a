"""What every chat adapter needs and none should write again: a capped LRU memory, doubling
backoff, a redacting log filter and dispatch of an action to the method for its type (pacing and
retries are in ``adapters.pacing``)."""
