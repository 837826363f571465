"""The recommenders: each turns Interactions into scored item lists."""
