"""comfy.model_management's device and cancel hooks, as ComfyUI documents them."""

import torch

INTERRUPT = {"now": False, "after_checks": None}   # tests set these to press "cancel"


class InterruptProcessingException(Exception):
    pass


def get_torch_device() -> torch.device:
    return torch.device("cpu")


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
