print("flowctl: not yet")
