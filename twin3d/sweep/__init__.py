"""Tool sweeps: any tool over a grid or random samples of its inputs, through a
concurrent.futures-style executor (in-process, processes, or a Dask cluster).

May import: twin3d.physics, twin3d.scenefile, twin3d.tools and twin3d.paths."""
