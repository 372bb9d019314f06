//! Which part of the desktop the host shows (PROTOCOL.md §7, "Monitors"): the layout the host's
//! display reports, the viewer's choice, the rectangle that follows from them, and the mapping of the
//! viewer's pointer coordinates back onto the desktop. Pure rules, no X: the host crate reads RandR.

use crate::limits::MAX_MONITORS;
use crate::session::{Control, MonitorInfo};

/// A rectangle of the desktop (the root window), in pixels; never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Area {
    fn contains(&self, x: i32, y: i32) -> bool {
        let (x, y) = (i64::from(x), i64::from(y));
        x >= i64::from(self.x)
            && y >= i64::from(self.y)
            && x < i64::from(self.x) + i64::from(self.width)
            && y < i64::from(self.y) + i64::from(self.height)
    }
}

/// The desktop as the host's display describes it: the root window's size and its monitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub width: u16,
    pub height: u16,
    /// At most [`MAX_MONITORS`] are kept (the rest cannot be selected).
    pub monitors: Vec<MonitorInfo>,
}

/// What the viewer asked to see.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Choice {
    /// Nothing chosen yet: the first layout picks the monitor that holds the pointer.
    Default,
    Whole,
    /// A monitor, by name: it stays selected through layout changes while it exists.
    Monitor(String),
}

/// The layout, the choice and the area that follows.
#[derive(Debug, Clone)]
pub(super) struct Monitors {
    layout: Option<Layout>,
    choice: Choice,
}

impl Monitors {
    pub(super) fn new() -> Self {
        Self {
            layout: None,
            choice: Choice::Default,
        }
    }

    /// A (possibly unchanged) layout; `pointer` is where the pointer is on the desktop, if known.
    /// Returns whether the viewer should be told (the layout or the selection changed).
    pub(super) fn set_layout(&mut self, mut layout: Layout, pointer: Option<(i32, i32)>) -> bool {
        layout.monitors.truncate(MAX_MONITORS);
        let before = (self.layout.clone(), self.selected());
        if self.choice == Choice::Default {
            let holding = |m: &&MonitorInfo| {
                pointer.is_some_and(|(x, y)| {
                    monitor_area(&layout, m).is_some_and(|area| area.contains(x, y))
                })
            };
            self.choice = match layout
                .monitors
                .iter()
                .find(holding)
                .or_else(|| layout.monitors.iter().find(|m| m.primary))
            {
                // One monitor is the whole desktop: nothing to choose.
                Some(m) if layout.monitors.len() > 1 => Choice::Monitor(m.name.clone()),
                _ => Choice::Whole,
            };
        }
        self.layout = Some(layout);
        if let Choice::Monitor(_) = self.choice
            && self.selected().is_none()
        {
            // The chosen monitor went away (or lies off the desktop now): show everything.
            self.choice = Choice::Whole;
        }
        before != (self.layout.clone(), self.selected())
    }

    /// The viewer's choice: a monitor of the last layout, or the whole desktop (`None`). Returns
    /// whether the viewer should be told: always, so a choice made from an older list is answered
    /// with the current one.
    pub(super) fn select(&mut self, index: Option<u8>) -> bool {
        let Some(layout) = &self.layout else {
            return false;
        };
        self.choice = match index.and_then(|i| layout.monitors.get(usize::from(i))) {
            Some(m) if monitor_area(layout, m).is_some() => Choice::Monitor(m.name.clone()),
            Some(_) => self.choice.clone(),
            None => Choice::Whole,
        };
        true
    }

    /// The index of the shown monitor in the layout, `None` for the whole desktop.
    fn selected(&self) -> Option<u8> {
        let (Some(layout), Choice::Monitor(name)) = (&self.layout, &self.choice) else {
            return None;
        };
        layout
            .monitors
            .iter()
            .position(|m| &m.name == name && monitor_area(layout, m).is_some())
            .and_then(|i| u8::try_from(i).ok())
    }

    /// The part of the desktop to capture; `None` before the first layout (capture everything).
    pub(super) fn area(&self) -> Option<Area> {
        let layout = self.layout.as_ref()?;
        let whole = Area {
            x: 0,
            y: 0,
            width: u32::from(layout.width).max(1),
            height: u32::from(layout.height).max(1),
        };
        Some(
            self.selected()
                .and_then(|i| monitor_area(layout, &layout.monitors[usize::from(i)]))
                .unwrap_or(whole),
        )
    }

    /// The `Monitors` message for the current state.
    pub(super) fn message(&self) -> Option<Control> {
        let layout = self.layout.as_ref()?;
        Some(Control::Monitors {
            width: layout.width,
            height: layout.height,
            monitors: layout.monitors.clone(),
            selected: self.selected(),
        })
    }

    /// A pointer position from the viewer (relative to the shown area) as a desktop position, clamped
    /// into the area.
    pub(super) fn to_desktop(&self, x: u32, y: u32) -> Option<(u32, u32)> {
        let area = self.area()?;
        Some((
            area.x + x.min(area.width - 1),
            area.y + y.min(area.height - 1),
        ))
    }

    /// A desktop pointer position relative to the shown area, and whether it is inside it.
    pub(super) fn to_area(&self, x: i32, y: i32) -> (i32, i32, bool) {
        match self.area() {
            None => (x, y, true),
            Some(area) => (
                x.saturating_sub(area.x as i32),
                y.saturating_sub(area.y as i32),
                area.contains(x, y),
            ),
        }
    }
}

/// A monitor's rectangle cut to the desktop; `None` if nothing of it is on the desktop.
fn monitor_area(layout: &Layout, m: &MonitorInfo) -> Option<Area> {
    let x0 = i32::from(m.x).max(0);
    let y0 = i32::from(m.y).max(0);
    let x1 = (i32::from(m.x) + i32::from(m.width)).min(i32::from(layout.width));
    let y1 = (i32::from(m.y) + i32::from(m.height)).min(i32::from(layout.height));
    (x1 > x0 && y1 > y0).then(|| Area {
        x: x0 as u32,
        y: y0 as u32,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Layout {
        Layout {
            width: 1600,
            height: 600,
            monitors: vec![
                MonitorInfo::new("L", 0, 0, 800, 600, true),
                MonitorInfo::new("R", 800, 0, 800, 600, false),
            ],
        }
    }

    fn area(x: u32, y: u32, width: u32, height: u32) -> Option<Area> {
        Some(Area {
            x,
            y,
            width,
            height,
        })
    }

    #[test]
    fn the_default_is_the_monitor_holding_the_pointer() {
        let mut m = Monitors::new();
        assert_eq!(m.area(), None);
        assert!(m.set_layout(two(), Some((900, 10))));
        assert_eq!(m.area(), area(800, 0, 800, 600));
        // No pointer: the primary one.
        let mut m = Monitors::new();
        m.set_layout(two(), None);
        assert_eq!(m.area(), area(0, 0, 800, 600));
        // One monitor: the whole desktop.
        let mut m = Monitors::new();
        let mut one = two();
        one.monitors.truncate(1);
        m.set_layout(one, Some((5, 5)));
        assert_eq!(
            m.message().and_then(|c| match c {
                Control::Monitors { selected, .. } => Some(selected),
                _ => None,
            }),
            Some(None)
        );
        assert_eq!(m.area(), area(0, 0, 1600, 600));
    }

    #[test]
    fn a_selection_follows_its_monitor_through_changes() {
        let mut m = Monitors::new();
        m.set_layout(two(), Some((10, 10)));
        assert!(m.select(Some(1)));
        assert_eq!(m.area(), area(800, 0, 800, 600));
        // The same layout again: nothing to tell.
        assert!(!m.set_layout(two(), None));
        // R moves first in the list: still R.
        let mut swapped = two();
        swapped.monitors.reverse();
        assert!(m.set_layout(swapped, None));
        assert_eq!(m.area(), area(800, 0, 800, 600));
        // The desktop shrinks under R: R is cut to what is left.
        let mut small = two();
        small.width = 1280;
        m.set_layout(small, None);
        assert_eq!(m.area(), area(800, 0, 480, 600));
        // R is removed: the whole desktop.
        let mut gone = two();
        gone.monitors.truncate(1);
        m.set_layout(gone, None);
        assert_eq!(m.area(), area(0, 0, 1600, 600));
        // An index from an old list changes nothing but is answered.
        assert!(m.select(Some(5)));
        assert_eq!(m.area(), area(0, 0, 1600, 600));
    }

    #[test]
    fn pointer_positions_map_into_the_area() {
        let mut m = Monitors::new();
        m.set_layout(two(), Some((900, 10)));
        assert_eq!(m.to_desktop(10, 20), Some((810, 20)));
        // Clamped into the monitor: never onto the neighbour.
        assert_eq!(m.to_desktop(5000, 5000), Some((1599, 599)));
        assert_eq!(m.to_area(810, 20), (10, 20, true));
        assert_eq!(m.to_area(10, 20), (-790, 20, false));
        m.select(None);
        assert_eq!(m.to_desktop(10, 20), Some((10, 20)));
    }
}
