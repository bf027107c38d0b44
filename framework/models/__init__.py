"""Models: plain nn.Modules with explicit, typed constructor arguments (no **kwargs).

A model's class declares the task kinds it serves (`tasks = ("ctr",)`); the config check reads it
to reject, say, a retrieval model in a CTR case before anything is loaded.
"""
