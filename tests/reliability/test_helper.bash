# SPDX-License-Identifier: MIT
# The reliability suite (issue 11's plan) runs on the bats suites' helpers: a daemon per test,
# polling, no survivors. Each @test is named "CASE: what it shows", CASE being the plan's name.
load ../bats/test_helper
