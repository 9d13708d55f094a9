"""What the test modules share, so that no test module imports another: where the repository and
its configs are (`paths`), the one Hydra compose (`config`), the seeded synthetic image problems and
torch randomness (`synthetic`), and fake data-set files written under tmp_path (`files`).
conftest.py holds the fixtures only."""
