"""The fault suite (``make faults``): see ``__main__``."""
