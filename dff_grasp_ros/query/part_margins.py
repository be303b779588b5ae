"""The margins by which an asked part must stand out on its object (:mod:`dff_grasp_ros.query.parts` says how each
is measured). Apart from the ranking's code, so that the query node's parameters (``min_part_contrast``,
``min_part_top``) take them as defaults without importing numpy and scipy at start-up.
"""

# In logit units (cosine / T): 0.3 at T = 0.1 is a cosine margin of 0.03 between the part's best points and the
# object's average. Measured on six CPU-trained tabletop fields (bench/RESULTS.md): parts answered on the right
# region stood out by 0.36 or more, while a knife blade that one field had not told apart from its handle stood
# out by 0.26 (its region was mostly handle). The price: a bottle cap at 0.28, and the spatula of a bin_clutter
# field at 0.26-0.29, are refused. A refusal is safer than a grasp on the wrong part.
DEFAULT_MIN_PART_CONTRAST = 0.3

# At its most part-like points the asked part must fit better than the other part names do on average, by a cosine
# of 0.1 (``query.parts``, "A part word the object lacks"). Measured on ten CPU-trained fields (`bin`,
# `bin_clutter`, two `tabletop`, six random scenes; bench/RESULTS.md "Part words an object lacks"): the part words
# an object lacks that were answered ("bottle handle" on the bottle's body, "mug blade" on its handle, "box cap")
# topped at 0.39-0.95; the parts that were there at 1.40 or more, but for screwdriver shafts (7 mm, below what
# 16-pixel teacher patches resolve) at 0.56-0.87 and a `bin` field's mug handles at 0.43-0.86, which are refused:
# the price of refusing the rest.
DEFAULT_MIN_PART_TOP = 1.0
