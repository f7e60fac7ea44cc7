"""Click commands: each parses options, builds a pipeline and runs it."""
