"""Where trainings run: one contract (``contract``), local worker processes, warm workers and a Ray cluster.

Pages and the CLI submit, cancel and watch runs through ``contract.Executor`` only.
"""
