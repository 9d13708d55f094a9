"""clad-bench: CLAD (Park et al., ICLR 2021 workshop, arXiv 2104.09793) and one-class baselines
behind one detector contract."""

__version__ = "0.1.0"
