"""The scene file: the TOML description of a structure and its rig (records, loader and
schema), the meshes generated from its geometry (trimesh, one GLB per geometry, also served
to browsers), and the user's saved model profiles, merged only where asked.

May import: twin3d.physics and twin3d.paths."""
