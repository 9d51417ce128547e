"""The offline plan: run the site stacks under Pulumi's mock runtime, render, validate.

API used by ``govcloud plan`` and by the policies::

    from govcloud.plan import plan_stack
    plan = plan_stack("region-a-dc1")        # -> StackPlan
    for r in plan.resources:                 # PlannedResource(stack, type, name, urn, props)
        ...
    plan.manifests                           # the Kubernetes objects (dicts)
"""

from govcloud.plan.engine import (
    SECRET_PLACEHOLDER,
    PlanError,
    PlannedResource,
    StackPlan,
    plan_stack,
    read_stack_config,
    run_program,
    stack_names,
)

__all__ = [
    "SECRET_PLACEHOLDER",
    "PlanError",
    "PlannedResource",
    "StackPlan",
    "plan_stack",
    "read_stack_config",
    "run_program",
    "stack_names",
]
