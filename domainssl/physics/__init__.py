"""The bottom layer of sensor physics: ToF camera profiles and the measurement model.

Both the views (:mod:`domainssl.augment`) and the synthetic world (:mod:`domainssl.data.synthetic`)
use it; it imports nothing else from the package.
"""
