"""The shared part of the Python programs: the contract, the kernel (Pillow), sources and
outputs, traces, and the driver. A program in `python/` holds only its pattern."""
