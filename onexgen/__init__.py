"""onexgen: a Kafka-native code-generation service for ONEX nodes."""

__version__ = "0.1.0"
