"""The paper's one-class baselines (OCSVM, SVDD, OC-NN, OC-CNN, Deep SVDD) and two cheap reference
detectors (autoencoder reconstruction error, k-means distance in the autoencoder's latent space),
each a `clad.base.Detector` configured by `conf/detector/<name>.yaml`."""
