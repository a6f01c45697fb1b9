"""A stand-in for ComfyUI's ``comfy`` package, for tests only: the interfaces vidstyle's nodes use.

It models what ComfyUI does that matters to a node, read from ComfyUI's
source (v0.3.x-0.8, comfy/utils.py, comfy/model_management.py, execution.py,
main.py): ``ProgressBar(total, node_id=None)`` clamps its value to the
total, and its hook checks for a cancel on every update; the cancel
exception derives from ``BaseException`` (so ``except Exception`` does not
catch it); every node runs inside ``torch.inference_mode()``, which the
tests' ``execute`` does as ComfyUI's executor does. ``tests/test_comfyui_real.py``
runs the pack in a real ComfyUI when one is there.
"""
