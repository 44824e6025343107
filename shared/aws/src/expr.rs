//! Conditions and updates as DynamoDB expressions. Every attribute name goes through a
//! placeholder (`#n0`) so reserved words are never a problem; values through `:v0`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use mcamp_store::ports::{Cond, StoreError, Update};
use serde_json::Value;

#[derive(Default)]
pub struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == attr) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), attr.to_owned());
        k
    }

    fn value(&mut self, v: &Value) -> Result<String, StoreError> {
        let av: AttributeValue =
            serde_dynamo::to_attribute_value(v).map_err(|e| StoreError::Invalid(format!("value: {e}")))?;
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), av);
        Ok(k)
    }

    pub fn condition(&mut self, c: &Cond) -> Result<String, StoreError> {
        Ok(match c {
            Cond::NotExists => {
                let n = self.name("pk");
                format!("attribute_not_exists({n})")
            }
            Cond::Exists => {
                let n = self.name("pk");
                format!("attribute_exists({n})")
            }
            Cond::AttrMissing(a) => {
                let n = self.name(a);
                format!("attribute_not_exists({n})")
            }
            Cond::Eq(a, v) => {
                let n = self.name(a);
                let v = self.value(v)?;
                format!("{n} = {v}")
            }
            Cond::Ge(a, x) => {
                let n = self.name(a);
                let v = self.value(&Value::from(*x))?;
                format!("{n} >= {v}")
            }
            Cond::Lt(a, x) => {
                let n = self.name(a);
                let v = self.value(&Value::from(*x))?;
                format!("{n} < {v}")
            }
            Cond::LtAttr(a, b) => {
                let x = self.name(a);
                let y = self.name(b);
                format!("{x} < {y}")
            }
            Cond::And(cs) | Cond::Or(cs) => {
                if cs.is_empty() {
                    return Err(StoreError::Invalid("empty And/Or condition".into()));
                }
                let op = if matches!(c, Cond::And(_)) { " AND " } else { " OR " };
                let parts = cs
                    .iter()
                    .map(|c| self.condition(c).map(|s| format!("({s})")))
                    .collect::<Result<Vec<_>, _>>()?;
                parts.join(op)
            }
        })
    }

    pub fn update(&mut self, u: &Update) -> Result<String, StoreError> {
        let mut sets = Vec::new();
        for (a, v) in &u.set {
            let n = self.name(a);
            let v = self.value(v)?;
            sets.push(format!("{n} = {v}"));
        }
        for (a, v) in &u.set_if_missing {
            let n = self.name(a);
            let v = self.value(v)?;
            sets.push(format!("{n} = if_not_exists({n}, {v})"));
        }
        let mut out = Vec::new();
        if !sets.is_empty() {
            out.push(format!("SET {}", sets.join(", ")));
        }
        if !u.add.is_empty() {
            let mut adds = Vec::new();
            for (a, by) in &u.add {
                let n = self.name(a);
                let v = self.value(&Value::from(*by))?;
                adds.push(format!("{n} {v}"));
            }
            out.push(format!("ADD {}", adds.join(", ")));
        }
        if !u.remove.is_empty() {
            let names: Vec<String> = u.remove.iter().map(|a| self.name(a)).collect();
            out.push(format!("REMOVE {}", names.join(", ")));
        }
        if out.is_empty() {
            return Err(StoreError::Invalid("empty update".into()));
        }
        Ok(out.join(" "))
    }

    pub fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values_opt(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}
