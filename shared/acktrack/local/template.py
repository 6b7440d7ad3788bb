"""Read template.yaml the way AWS would: SAM transform, parameters, intrinsic functions.

The local stack takes its buckets, table, queues, functions, environment variables,
bucket notifications and schedules from the transformed template, so what runs
locally cannot drift from what deploys.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"


class TemplateError(ValueError):
    """The template cannot be read or transformed; the message says where."""


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...)."""


def _tag(loader: _CloudFormationLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


# Parsing the template and SAM's transform took about 0.35 s of every stack the tests start;
# each is kept per process (by file version, and by template and parameters) and copied out.
_LOADED: dict[tuple[str, int, int], dict[str, Any]] = {}
_TRANSFORMED: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        stat = path.stat()
        version = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if version not in _LOADED:
            document = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
            if not isinstance(document, dict) or "Resources" not in document:
                raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
            _LOADED[version] = document
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"{path}: {error}") from None
    return copy.deepcopy(_LOADED[version])


class _NoManagedPolicies:
    """samtranslator asks IAM for managed policy ARNs; locally none are needed."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(
    template: dict[str, Any], parameters: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The CloudFormation template SAM deploys, and each function's local code folder."""
    key = json.dumps([template, parameters], sort_keys=True, default=str)
    if key not in _TRANSFORMED:
        _TRANSFORMED[key] = _sam_transform(template, parameters)
    return copy.deepcopy(_TRANSFORMED[key])


def _sam_transform(
    template: dict[str, Any], parameters: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    from samtranslator.translator.transform import transform

    prepared = copy.deepcopy(template)
    code: dict[str, str] = {}
    for name, resource in prepared["Resources"].items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            code[name] = properties.get("CodeUri", ".")
            properties["CodeUri"] = f"s3://local-code/{name}.zip"
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://local-code/{name}.zip"
    try:
        transformed = transform(prepared, parameters, _NoManagedPolicies())
    except Exception as error:
        raise TemplateError(f"SAM transform failed: {error}") from None
    return transformed, code


@dataclass
class Resolver:
    """Evaluates CloudFormation intrinsic functions with local physical names."""

    parameters: dict[str, Any]
    conditions: dict[str, Any]
    names: dict[str, str] = field(default_factory=dict)  # logical id -> physical name
    arns: dict[str, str] = field(default_factory=dict)
    _decided: dict[str, bool] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        if name not in self._decided:
            self._decided[name] = bool(self.value(self.conditions[name]))
        return self._decided[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (self.value(item) for item in node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::GetAtt":
                resource, attribute = (
                    argument if isinstance(argument, list) else argument.split(".", 1)
                )
                if attribute == "Arn":
                    return self.arns.get(resource, f"arn:aws:local:::{resource}")
                return self.names.get(resource, resource)
            if key == "Fn::If":
                name, yes, no = argument
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.value(item) for item in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(argument[0])
            if key == "Fn::And":
                return all(self.value(item) for item in argument)
            if key == "Fn::Or":
                return any(self.value(item) for item in argument)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.value(items))
            if key == "Fn::Split":
                separator, text = argument
                return str(self.value(text)).split(separator)
            if key == "Fn::Select":
                index, items = argument
                return self.value(items)[int(self.value(index))]
            if key == "Condition":
                return self.condition(argument)
        resolved = {key: self.value(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self.names.get(name, name)

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self.value(value) for key, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in values:
                return str(values[token])
            if "." in token:
                return str(self.value({"Fn::GetAtt": token.split(".", 1)}))
            return str(self._ref(token))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)


_NO_VALUE = object()


def parameter_values(
    template: dict[str, Any], overrides: dict[str, Any], stack_name: str, region: str
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    check_parameters(template, overrides)
    for name, spec in template.get("Parameters", {}).items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif "Default" in spec:
            values[name] = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default; give it a value")
    return values


def check_parameters(template: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Refuse, as CloudFormation would, a parameter the template does not declare (naming
    those it does) or a value its declaration does not allow (saying which rule)."""
    declared: dict[str, dict[str, Any]] = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        import difflib

        guesses = [
            f" (did you mean {close[0]}?)" if close else ""
            for close in (difflib.get_close_matches(name, declared, n=1) for name in unknown)
        ]
        named = ", ".join(name + guess for name, guess in zip(unknown, guesses, strict=True))
        raise TemplateError(
            f"unknown template parameter{'s' if len(unknown) > 1 else ''} {named}; "
            f"the template's parameters are: {', '.join(sorted(declared))}"
        )
    for name, value in overrides.items():
        problem = _refusal(declared[name], _text(value))
        if problem:
            explained = declared[name].get("ConstraintDescription")
            raise TemplateError(
                f"parameter {name}={_text(value)!r} refused: {problem}"
                + (f": {explained}" if explained else "")
            )


def _text(value: Any) -> str:
    """A value as CloudFormation receives it: text (a whole float without its ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _refusal(spec: dict[str, Any], value: str) -> str | None:
    """Why CloudFormation would refuse ``value`` for a parameter declared as ``spec``."""
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        if not math.isfinite(number):
            return "not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"below its MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"above its MaxValue {spec['MaxValue']}"
    else:
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            return f"shorter than its MinLength {spec['MinLength']}"
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            return f"longer than its MaxLength {spec['MaxLength']}"
        if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
            return f"does not match its AllowedPattern {spec['AllowedPattern']}"
    allowed = spec.get("AllowedValues")
    if allowed is not None and not any(_same(value, item, spec) for item in allowed):
        return f"not one of its AllowedValues: {', '.join(str(item) for item in allowed)}"
    return None


def _same(value: str, allowed: Any, spec: dict[str, Any]) -> bool:
    if spec.get("Type") == "Number":
        try:
            return float(value) == float(allowed)
        except ValueError:
            return False
    return value == str(allowed)
