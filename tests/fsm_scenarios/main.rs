//! State-machine scenarios on virtual time: instances on a simulated
//! segment, timers jumped to, every effect logged and asserted.

mod election;
mod groups;
mod rollout;
mod segment;
mod split_brain;
mod tracking;
