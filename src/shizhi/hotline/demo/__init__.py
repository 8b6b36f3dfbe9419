"""The hotline's demo year (演示数据): the taxonomy and knowledge base as data, a planner for a year of cases and
the steps of each case's life. Entry point: :mod:`shizhi.hotline.demo_data`."""
