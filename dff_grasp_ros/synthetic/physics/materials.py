"""Masses and friction of the simulated world, in one place, with what each number is based on.

Masses are those of everyday items of the catalogue's sizes (``synthetic/objects.py``), each spread uniformly over
the object's solid (so a mug's centre of mass lies in its body, off the handle; a knife's between handle and
blade):

| type | kg | based on |
| --- | --- | --- |
| mug | 0.35 | a ceramic mug of 82 mm x 90 mm weighs 0.3-0.4 kg |
| pan | 1.0 | a 22 cm aluminium frying pan with a handle, 0.9-1.2 kg |
| knife | 0.08 | a 24 cm kitchen knife, 60-120 g |
| screwdriver | 0.10 | a 21 cm screwdriver with a 32 mm handle, 80-130 g |
| spatula | 0.06 | a 25 cm nylon spatula, 40-80 g |
| bottle | 0.50 | a filled 0.5 l plastic bottle (water) |
| bowl | 0.30 | a 15 cm ceramic cereal bowl, 0.25-0.4 kg |
| box | 0.25 | a 12 x 8 x 7 cm packet (tea, pasta), 0.1-0.5 kg |

Friction (Coulomb coefficients; MuJoCo uses the larger of the two geoms' coefficients for a contact, so the pads'
value governs every finger contact and the objects' value every object-object and object-table contact):

- ``PAD_FRICTION`` 1.0: the finger pads are rubber; dry rubber on hard smooth surfaces (ceramic, steel, hard
  plastic) has a static coefficient of about 0.8-1.2; we take the middle.
- ``PAD_TORSION_M`` 0.006: torsional friction (condim 4, torque = coefficient x normal force) of a soft pad
  pressed on a ~20 x 14 mm patch: the mean lever of a uniform pressure over that patch is ~6 mm.
- ``OBJECT_FRICTION`` 0.5 and ``TABLE_FRICTION`` 0.5: ceramic, plastic or metal on a wooden table or plastic
  tote, static coefficients of about 0.3-0.6.
- ``LIP_FRICTION`` 1.0 and ``LIP_TORSION_M`` 0.004: a suction cup's lip is soft rubber (nitrile, silicone) like
  the pads, so the same coefficient; its torsional lever is that of a thin ring of the 10 mm lip radius pressed
  unevenly, less than the ring's radius (a uniformly pressed ring's would be the radius itself).

The suction tool (``grasp/suction_cup.py``'s dimensions; gravity-compensated and moved kinematically, so its mass
only sets how it answers a contact):

| part | kg | based on |
| --- | --- | --- |
| cup | 0.01 | a 20 mm bellows cup of nitrile with its fitting, 5-15 g |
| rod | 0.05 | a 15 cm aluminium extension tube of 16 mm, 40-60 g |
| body | 0.40 | a flange with an ejector vacuum generator and valve, 0.3-0.5 kg (Schmalz, Piab catalogues) |
"""
from __future__ import annotations

OBJECT_MASS_KG: dict[str, float] = {
    "mug": 0.35, "pan": 1.0, "knife": 0.08, "screwdriver": 0.10, "spatula": 0.06, "bottle": 0.50, "bowl": 0.30,
    "box": 0.25,
}
PAD_FRICTION = 1.0
PAD_TORSION_M = 0.006
OBJECT_FRICTION = 0.5
TABLE_FRICTION = 0.5
# Franka Emika hand: 0.73 kg, each finger pressing with up to 70 N continuously.
HAND_MASS_KG = 0.73
FINGER_MASS_KG = 0.02
FINGER_FORCE_N = 70.0
LIP_FRICTION = 1.0
LIP_TORSION_M = 0.004
SUCTION_CUP_MASS_KG = 0.01
SUCTION_ROD_MASS_KG = 0.05
SUCTION_BODY_MASS_KG = 0.40


def object_mass_kg(kind: str) -> float:
    """Mass of an object type; ValueError naming the type when the table lacks it."""
    if kind not in OBJECT_MASS_KG:
        raise ValueError(f"no mass for object type {kind!r} in synthetic/physics/materials.py; known: "
                         f"{', '.join(OBJECT_MASS_KG)}")
    return OBJECT_MASS_KG[kind]
