//! Screen conditions: `rsi<30,close>sma_200,volume_spike=true`. Each condition compares a
//! numeric or boolean field with a number, a boolean or another field; all must hold.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int8Type, Int32Type, Int64Type};
use candlestore::{column_index, row_schema};

use crate::error::ApiError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// The right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Number(f64),
    Field(String),
}

/// `field op operand`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) field: String,
    pub(crate) op: Op,
    pub(crate) rhs: Operand,
}

impl Condition {
    /// The fields the condition reads.
    pub(crate) fn fields(&self) -> Vec<&str> {
        match &self.rhs {
            Operand::Field(f) => vec![self.field.as_str(), f.as_str()],
            Operand::Number(_) => vec![self.field.as_str()],
        }
    }
}

/// Whether a field can be compared: numbers and booleans (as 0/1).
fn comparable(name: &str) -> Option<bool> {
    let i = column_index(name)?;
    Some(matches!(
        row_schema().field(i).data_type(),
        DataType::Float64 | DataType::Int8 | DataType::Int32 | DataType::Int64 | DataType::Boolean
    ))
}

fn field_ref(name: &str, text: &str) -> Result<String, ApiError> {
    match comparable(name) {
        Some(true) => Ok(name.to_owned()),
        Some(false) => Err(ApiError::invalid(
            "invalid_condition",
            "where",
            format!("condition {text:?}: field {name:?} is not a number or a boolean"),
        )),
        None => Err(ApiError::invalid(
            "unknown_field",
            "where",
            format!("condition {text:?}: unknown field {name:?}"),
        )),
    }
}

/// Parses the comma-separated conditions of `where`.
pub(crate) fn parse(text: &str) -> Result<Vec<Condition>, ApiError> {
    const OPS: [(&str, Op); 8] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
        ("<>", Op::Ne),
    ];
    let mut out = Vec::new();
    for cond in text.split(',') {
        let cond = cond.trim();
        let bad = |why: &str| {
            ApiError::invalid(
                "invalid_condition",
                "where",
                format!(
                    "condition {cond:?} {why}: write field<value or field>other_field, with one of < <= > >= = !="
                ),
            )
        };
        if cond.is_empty() {
            return Err(bad("is empty"));
        }
        let Some((at, token, op)) = OPS
            .iter()
            .filter_map(|(t, op)| cond.find(t).map(|at| (at, *t, *op)))
            .min_by_key(|(at, t, _)| (*at, std::cmp::Reverse(t.len())))
        else {
            return Err(bad("has no comparison"));
        };
        let lhs = cond[..at].trim();
        let rhs = cond[at + token.len()..].trim();
        if lhs.is_empty() || rhs.is_empty() || rhs.contains(['<', '>', '=', '!']) {
            return Err(bad("is not of the form field<op>value"));
        }
        let field = field_ref(lhs, cond)?;
        let rhs = match rhs {
            "true" => Operand::Number(1.0),
            "false" => Operand::Number(0.0),
            r => match r.parse::<f64>() {
                Ok(v) if v.is_finite() => Operand::Number(v),
                Ok(_) => return Err(bad("compares with a value that is not finite")),
                Err(_) if r.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                    Operand::Field(field_ref(r, cond)?)
                }
                Err(_) => {
                    return Err(bad(&format!("has {r:?}, which is neither a number nor a field")));
                }
            },
        };
        out.push(Condition { field, op, rhs });
    }
    Ok(out)
}

/// A column's value at `row` as a number (booleans 1/0); `None` for null.
pub(crate) fn value(array: &ArrayRef, row: usize) -> Option<f64> {
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row),
        DataType::Int8 => f64::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int32 => f64::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row) as f64,
        DataType::Boolean => f64::from(u8::from(array.as_boolean().value(row))),
        _ => return None,
    })
}

/// Whether `op` holds between two values (a null never satisfies a condition).
pub(crate) fn holds(op: Op, a: Option<f64>, b: Option<f64>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if op.holds(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conditions() {
        let c = parse("rsi<30, close>=sma_200,volume_spike=true,revision != 1").unwrap();
        assert_eq!(c[0], Condition { field: "rsi".into(), op: Op::Lt, rhs: Operand::Number(30.0) });
        assert_eq!(
            c[1],
            Condition { field: "close".into(), op: Op::Ge, rhs: Operand::Field("sma_200".into()) }
        );
        assert_eq!(c[2].rhs, Operand::Number(1.0));
        assert_eq!(c[3].op, Op::Ne);
        assert_eq!(parse("close<-1.5e2").unwrap()[0].rhs, Operand::Number(-150.0));
        for (bad, code) in [
            ("rsi", "invalid_condition"),
            ("rsi<", "invalid_condition"),
            ("<30", "invalid_condition"),
            ("rsi<<30", "invalid_condition"),
            ("rsi<30,", "invalid_condition"),
            ("rsi<abc", "unknown_field"),
            ("rsx<30", "unknown_field"),
            ("symbol=AAPL", "invalid_condition"),
            ("rsi<1e999", "invalid_condition"),
            ("rsi<3$", "invalid_condition"),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!((e.code, e.param.as_deref()), (code, Some("where")), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn nulls_never_match() {
        assert!(holds(Op::Lt, Some(1.0), Some(2.0)));
        assert!(!holds(Op::Lt, None, Some(2.0)));
        assert!(!holds(Op::Ne, Some(1.0), None));
    }
}
