"""The four tagging axes and the rules that propose tags, each with its reason."""
