"""Delivery providers: one adapter per vendor or channel, all behind `base.Provider`."""
