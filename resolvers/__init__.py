"""The application layer: plain async functions that GraphQL, REST, workers and the scheduler call.

Callers own the transaction; these functions only flush.
"""
