"""A stand-in for ComfyUI's ``comfy`` package, for tests only: exactly the interfaces vidstyle's nodes use.

ComfyUI is not installable from the package registries; these follow its
documented API (comfy.utils.ProgressBar, comfy.model_management's device and
cancel hooks) and record what the nodes did with them.
"""
