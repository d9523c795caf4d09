"""Photo metadata files in and out: face regions in XMP (a photo's own and its
sidecars), and names from Google Takeout and Picasa.

A floor of its own: it imports only the ground modules (config, errors, types, ...),
and the use cases (indexing, export, import) call it. Boxes are always in pixels of
the upright photo, as `facerec.vision.images` decodes it.
"""

from facerec.metadata.picasa import PicasaPhoto, read_picasa
from facerec.metadata.region_write import RegionWrite, restore, sidecar_for_writing, write_regions
from facerec.metadata.regions import Region, RegionRead, SidecarState, read_regions, sidecar_paths, sidecar_states
from facerec.metadata.takeout import TakeoutPhoto, read_takeout

__all__ = [
    "PicasaPhoto",
    "Region",
    "RegionRead",
    "RegionWrite",
    "SidecarState",
    "TakeoutPhoto",
    "read_picasa",
    "read_regions",
    "read_takeout",
    "restore",
    "sidecar_for_writing",
    "sidecar_paths",
    "sidecar_states",
    "write_regions",
]
