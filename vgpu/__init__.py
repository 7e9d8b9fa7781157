"""vgpu: a virtual GPU in Python."""
