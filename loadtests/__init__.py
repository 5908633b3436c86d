"""Load tests: the hub's fan-out beside the servers a team would otherwise pick.

Words as used here: a *publisher* is a caretaker connection sending location
frames; a *subscriber* is a tenant connection on the district's channel; a
*delivery* is one location event reaching one subscriber; a *step* is a fixed
offered rate held for a few seconds. See `docs/benchmarks.md`.
"""
