//! [`Class`]: the request classes of a run. Every run has the small class (the requests whose
//! latency the lab is about) and, unless switched off, the large one (the uploads); a run may
//! add classes of its own, by name (lab-loadgen's EXTRA_CLASSES). Their names appear in request
//! ids, CSV rows, metric labels and the reports, on every side.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A request class, written as its name (`small`, `large`, or an extra class's own).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// The small requests whose latency the lab is about.
    Small,
    /// The large uploads (the class the LARGE_ON/LARGE_OFF cycle switches).
    Large,
    /// A class a run adds by name.
    Extra(String),
}

impl Class {
    /// The two classes every study workload has.
    pub const STUDY: [Class; 2] = [Class::Small, Class::Large];

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Class::Small => "small",
            Class::Large => "large",
            Class::Extra(name) => name,
        }
    }

    /// The class named `name`.
    pub fn named(name: &str) -> Self {
        match name {
            "small" => Class::Small,
            "large" => Class::Large,
            other => Class::Extra(other.to_owned()),
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl From<&str> for Class {
    fn from(name: &str) -> Self {
        Self::named(name)
    }
}

impl Serialize for Class {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Class {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|name| Self::named(&name))
    }
}

/// [`Class::Small`]'s name, for code that still compares names.
pub const SMALL: &str = "small";
/// [`Class::Large`]'s name, for code that still compares names.
pub const LARGE: &str = "large";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for class in [Class::Small, Class::Large, Class::Extra("medium".into())] {
            assert_eq!(Class::named(class.name()), class);
            let json = serde_json::to_string(&class).unwrap();
            assert_eq!(serde_json::from_str::<Class>(&json).unwrap(), class);
        }
    }
}
