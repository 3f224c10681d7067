"""The read-only use cases: `status`, `why`, `plan` (the fan-out of `promote --to`),
`explain`. Each reads the config repository through `promotion`'s workspace and checkout
and returns a value for `cli` to render; none commits, pushes or opens a request.
"""
