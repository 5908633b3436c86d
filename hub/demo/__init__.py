"""The demo on real data: Rotterdam districts, walking caretakers, tenants' reports.

Everything here is pure: modules read the files shipped in `hub/demo/data/` and
return data, with no Redis, no socket and no clock. The lead's `runner.py` turns
that data into a running demo (loading the directory, sending caretaker fixes,
submitting reports) and owns all the I/O and the sleeping.

    districts   the real Rotterdam *gebieden*, the residential ones chosen, with
                point-in-polygon and a centroid
    directory   the demo directory: districts, caretakers with profiles, tenants,
                agents, as the JSON that `homi-hub directory load` reads; avatars
    routes      GPS traces recorded elsewhere, moved onto each district, replayed
                at their recorded pace
    complaints  real NYC 311 housing complaints mapped to our ticket categories,
                replayed as a seeded stream of Dutch demo reports

What is real and what is derived is written down in `hub/demo/data/README.md`.
The product never reads the shared data folder at run time: the files it needs
are copied into `hub/demo/data/` with their source and licence.

In Python the order is always (lat, lon), as on the wire; GeoJSON keeps its own
(lon, lat) order inside the geometries it carries.
"""

DEMO_SEED = 2024
"""The seed every generator here uses unless told otherwise."""
