"""Keep the fuzzer from locking itself out: it runs as a cloud admin, who may
reset, disable or delete any user, its own account included. A case aimed at
its own user id is sent to a decoy user instead (fuzz.py creates it), so every
user operation still runs; logout is excluded on the command line for the
same reason."""

import os

import schemathesis

SELF = os.environ["NICPLANE_FUZZ_USER_ID"]
DECOY = os.environ["NICPLANE_FUZZ_DECOY_ID"]


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.path_parameters and case.path_parameters.get("user_id") == SELF:
        case.path_parameters["user_id"] = DECOY
