"""Photos: checking and cleaning uploaded images, and keeping their bytes.

`images` decides (pure, no I/O): is this a real image of an allowed type and
size, and what are its re-encoded, metadata-free full and thumbnail forms.
`storage` keeps bytes under a name: `MediaStore` is the interface, and
`DiskMediaStore` the implementation on the hub's data folder; an object
store can implement the same three methods later. Which ticket a photo
belongs to, and who may see it, is not decided here (see
`hub.tickets.conversation`).
"""
