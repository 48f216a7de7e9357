"""Running an experiment: variants, one job (train or load, evaluate), training, results files, Ray."""
