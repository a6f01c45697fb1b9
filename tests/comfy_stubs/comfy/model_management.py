"""comfy.model_management's device and cancel hooks, as ComfyUI has them."""

import torch

INTERRUPT = {"now": False, "after_checks": None}   # tests set these to press "cancel"
DEVICE = {"device": torch.device("cpu")}           # what get_torch_device() answers (tests set xpu, ...)


class InterruptProcessingException(BaseException):
    """ComfyUI's cancel: a BaseException, so a node's ``except Exception`` does not swallow it."""


def get_torch_device() -> torch.device:
    return DEVICE["device"]


def interrupt_current_processing(value: bool = True) -> None:
    INTERRUPT["now"] = value


def throw_exception_if_processing_interrupted() -> None:
    if INTERRUPT["after_checks"] is not None:
        INTERRUPT["after_checks"] -= 1
        if INTERRUPT["after_checks"] <= 0:
            INTERRUPT["now"], INTERRUPT["after_checks"] = True, None
    if INTERRUPT["now"]:
        INTERRUPT["now"] = False
        raise InterruptProcessingException()
